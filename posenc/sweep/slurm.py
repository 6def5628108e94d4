"""Submit a sweep to SLURM through submitit (``pip install posenc[slurm]``).

One job per encoding runs its pre-training and then its fine-tunes (a translation sweep: its
encoder-decoders) (the fine-tunes need the
pre-trained model, and a chain keeps the queue short); a final job writes the report once every
encoding job has ended. Each job calls the same resumable code as a local sweep, so re-submitting
after a failure or a pre-emption continues where it stopped.
"""

from __future__ import annotations

from .plan import Plan, PlannedRun, expand


def _run_chain(sweep_source: str, overrides: tuple[str, ...], encoding_index: int) -> list[str]:
    """Job body: one encoding's runs, in order (re-expanded on the node from the sweep file)."""
    from .config import load_sweep
    from .execute import probe_if_needed, run_one

    plan = expand(load_sweep(sweep_source, list(overrides)))
    done = []
    for run in chains(plan)[encoding_index]:
        run_one(plan, run)
        probe_if_needed(plan, run)
        done.append(run.name)
    return done


def _report(sweep_source: str, overrides: tuple[str, ...]) -> str:
    from .config import load_sweep
    from .execute import write_report

    return str(write_report(expand(load_sweep(sweep_source, list(overrides)))))


def chains(plan: Plan) -> list[list[PlannedRun]]:
    """The job bodies: each pre-training followed by its fine-tunes; in a translation sweep, the
    runs of each encoding."""
    if not plan.pretrain_runs:
        entries = sorted({r.entry for r in plan.runs})
        return [[r for r in plan.runs if r.entry == e] for e in entries]
    return [[pre] + [r for r in plan.finetune_runs if r.depends_on == pre.name] for pre in plan.pretrain_runs]


def make_executor(plan: Plan, cluster: str | None = None):
    try:
        import submitit
    except ImportError as e:  # optional dependency
        raise ImportError("launcher.kind: slurm needs submitit: pip install 'posenc[slurm]'") from e
    s = plan.sweep.launcher.slurm
    ex = submitit.AutoExecutor(folder=str(plan.output_dir / "slurm" / "%j"), cluster=cluster)
    ex.update_parameters(name=f"posenc-{plan.sweep.name}", timeout_min=s.time_min, gpus_per_node=s.gpus_per_node,
                         cpus_per_task=s.cpus_per_task, mem_gb=s.mem_gb)
    if s.partition:
        ex.update_parameters(slurm_partition=s.partition)
    if s.additional:
        ex.update_parameters(slurm_additional_parameters=dict(s.additional))
    return ex


def submit_sweep(plan: Plan, overrides: tuple[str, ...] = (), cluster: str | None = None):
    """Submit one job per unfinished encoding chain plus the report job; returns the jobs."""
    from .execute import ensure_shared_tokenizer

    ensure_shared_tokenizer(plan)  # once, here, so parallel jobs share one vocabulary
    ex = make_executor(plan, cluster)
    jobs = []
    for i, chain in enumerate(chains(plan)):
        if all(r.state() == "done" for r in chain):
            continue
        jobs.append(ex.submit(_run_chain, plan.sweep.source, tuple(overrides), i))
    if plan.sweep.report.enabled:
        if jobs and cluster != "debug" and cluster != "local":
            ex.update_parameters(slurm_additional_parameters={
                **dict(plan.sweep.launcher.slurm.additional),
                "dependency": "afterany:" + ":".join(str(j.job_id) for j in jobs)})
        jobs.append(ex.submit(_report, plan.sweep.source, tuple(overrides)))
    for j in jobs:
        print(f"submitted job {j.job_id}")
    return jobs
