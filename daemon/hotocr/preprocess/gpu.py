"""GPU backend: ``NdimageBackend`` on CuPy and ``cupyx.scipy.ndimage``.

Importing CuPy succeeds on machines without a driver; only the first real call fails
(``CUDARuntimeError``). The constructor therefore runs a small smoke kernel on the chosen
device, so ``auto`` falls back to the CPU instead of failing on the first page. Only worker
processes (started with ``spawn``) construct this class.
"""

from __future__ import annotations

from hotocr.errors import ConfigError
from hotocr.preprocess.ndimage import NdimageBackend


class GpuBackend(NdimageBackend):
    def __init__(self, device: int = 0, *, memory_limit_mb: int = 0) -> None:
        import cupy  # noqa: PLC0415 - imported only where a GPU is wanted
        import cupyx  # noqa: PLC0415
        from cupyx.scipy import ndimage  # noqa: PLC0415

        super().__init__(
            cupy,
            ndimage,
            "gpu",
            scatter_min=cupyx.scatter_min,
            scatter_max=cupyx.scatter_max,
        )
        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= device < count:
            raise ConfigError(
                f"[preprocess] device = {device}: this machine has {count} CUDA device(s)"
            )
        cupy.cuda.Device(device).use()
        if memory_limit_mb:
            cupy.get_default_memory_pool().set_limit(size=memory_limit_mb * 2**20)
        # Smoke test: a real kernel launch and copy back, not just an import.
        probe = cupy.arange(256, dtype=cupy.float32)
        if float(cupy.asnumpy((probe * 2).sum())) != 65280.0:
            raise RuntimeError("CUDA smoke kernel returned a wrong result")

    def memory_used(self) -> int:
        """Bytes CuPy's memory pool holds on this device (for the metrics)."""
        return int(self.xp.get_default_memory_pool().total_bytes())
