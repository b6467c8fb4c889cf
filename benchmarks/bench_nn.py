"""Deep-network benchmark: training speed on the CPU default and on CUDA, and digits test error per method.

The CIFAR-10 epoch runs only with CUDA and ``$LSIS_ROBUST_DATA_DIR`` pointing
at the CIFAR-10 archive; elsewhere it is skipped.  Torch runs on one thread
for the digits cases, as ``lsis-robust nn`` does.
"""
from __future__ import annotations

import os

from .common import Benchmark, skip

STEP_METHODS = ["lr", "lslr-0.4", "mlslr-0.4", "mlslr-10/9", "lsqlr"]


def _trainer(method: str, dataset: str = "digits", epochs: int = 8):
    import torch

    from lsis_robust.nn.data import DeviceData, load_dataset
    from lsis_robust.nn.methods import parse_method
    from lsis_robust.nn.train import TrainConfig, Trainer

    cuda = dataset == "cifar10"
    device = torch.device("cuda" if cuda else "cpu")
    cfg = TrainConfig(model="resnet18" if cuda else "small_cnn", epochs=epochs, device=device.type, amp=cuda,
                      channels_last=cuda)
    return Trainer(parse_method(method), DeviceData(load_dataset(dataset), device, cfg.channels_last), cfg)


class DigitsStep(Benchmark):
    """One SGD step (batch 128) of the small CNN on 8x8 digits, per loss."""

    params = [STEP_METHODS]
    param_names = ["method"]

    def setup(self, method):
        import torch

        torch.set_num_threads(1)
        self.trainer = _trainer(method)
        self.batch = self.trainer.data.train_batch(torch.arange(128), self.trainer.aug_gen)

    def time_step(self, method):
        self.trainer.step(*self.batch)


class DigitsEpoch(Benchmark):
    """A whole epoch as the CLI runs it: 1347 augmented training images, then the exact test (and, for
    LSLR, training-set R-logit) evaluation."""

    params = [["mlslr-0.4", "lslr-0.4"]]
    param_names = ["method"]
    repeat = (2, 5, 30.0)

    def setup(self, method):
        import torch

        torch.set_num_threads(1)
        self.trainer = _trainer(method)

    def time_epoch(self, method):
        self.trainer.run_epoch()


class Cifar10Epoch(Benchmark):
    """One ResNet-18 training epoch on CIFAR-10 on CUDA (bf16, channels_last, data on the GPU), synchronised."""

    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0
    timeout = 600

    def setup(self):
        import torch

        if not torch.cuda.is_available():
            skip("needs CUDA")
        if not os.environ.get("LSIS_ROBUST_DATA_DIR"):
            skip("needs $LSIS_ROBUST_DATA_DIR with cifar-10-python.tar.gz")
        torch.backends.cudnn.benchmark = True
        self.trainer = _trainer("mlslr-0.4", "cifar10", epochs=150)
        x, y = self.trainer.data.train_batch(torch.arange(128, device="cuda"), self.trainer.aug_gen)
        for _ in range(3):  # cuDNN autotuning happens here, not in the timed epoch
            self.trainer.step(x, y)
        torch.cuda.synchronize()

    def time_epoch(self):
        self.trainer.train_epoch()  # synchronises the device before and after timing


class DigitsTTR(Benchmark):
    """Minimum test zero-one error over 8 epochs of the small CNN on digits (seed 0), per paper method."""

    # One method per family and side of alpha = 1 keeps the quick run of the suite within its budget (all 20
    # methods took 5.5 minutes); the full comparison is `lsis-robust nn`.
    params = [["lr", "lslr-0.4", "mlslr-0.4", "lslr-9.4/9", "mlslr-9.4/9", "lsqlr"]]
    param_names = ["method"]
    unit = "test error rate"
    timeout = 300

    def setup(self, method):
        import torch

        torch.set_num_threads(1)

    def track_ttr(self, method):
        trainer = _trainer(method)
        for _ in range(trainer.cfg.epochs):
            trainer.run_epoch()
        return min(r["test_ttr"] for r in trainer.history)
