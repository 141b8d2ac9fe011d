"""
gen_trainer — the runtime of generated PyTorch programs (train.py); see python/README.md.

Each module is imported by name (from gen_trainer.rng import ...); this file imports nothing.
"""
