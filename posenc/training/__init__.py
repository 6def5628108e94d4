"""Training engine: experiment configs, tokenizers, corpus packing, pre-training and fine-tuning
recipes (and encoder-decoder translation, ``run_translate``) on Accelerate (one CPU, one GPU, many GPUs or nodes with the same command).

    from posenc.training import load_config, run_pretrain, run_finetune
    cfg = load_config("configs/pretrain/tiny.yaml", ["train.max_steps=100", "model.position=t5"])
    results = run_pretrain(cfg, run_dir="runs/tiny-t5")        # → results.json as a dict
"""

from .config import (ConfigError, FinetuneConfig, PretrainConfig, TranslateConfig, check_config, check_experiment, config_from_dict,
                     config_to_dict, load_config)


def __getattr__(name):
    # the recipes pull in torch/accelerate/datasets: import them only when asked for
    if name == "run_pretrain":
        from .pretrain import run_pretrain
        return run_pretrain
    if name == "run_finetune":
        from .finetune import run_finetune
        return run_finetune
    if name == "run_translate":
        from .translate import run_translate
        return run_translate
    raise AttributeError(f"module 'posenc.training' has no attribute {name!r}")


__all__ = ["load_config", "check_config", "check_experiment", "config_from_dict", "config_to_dict", "ConfigError", "PretrainConfig",
           "FinetuneConfig", "TranslateConfig", "run_pretrain", "run_finetune", "run_translate"]
