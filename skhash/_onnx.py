"""ONNX Runtime for the image feature extractor: export, session, inference.

The optional extra ``scikit-hashing[onnx]`` (onnxruntime, and onnx, which
torch's exporter needs); imported only when used.
"""

import io
import warnings

import numpy as np

ONNX_MESSAGE = (
    'backend="onnxruntime" needs the optional dependencies of scikit-hashing[onnx] '
    '(onnxruntime, onnx): pip install "scikit-hashing[onnx]"'
)


def import_onnxruntime():
    """onnxruntime, or None when it (or onnx, which torch's exporter needs) is missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def export_onnx(network, image_size, torch):
    """An EfficientNet's mean-pooled features exported to ONNX (bytes), any batch size."""

    class PooledFeatures(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, pixels):
            return self.net.extract_features(pixels).mean(dim=(2, 3))

    example = torch.zeros((1, 3, image_size, image_size))
    buffer = io.BytesIO()
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        torch.onnx.export(
            PooledFeatures(network).eval(),
            (example,),
            buffer,
            dynamo=False,
            input_names=["pixels"],
            output_names=["features"],
            dynamic_axes={"pixels": {0: "images"}, "features": {0: "images"}},
            opset_version=17,
        )
    return buffer.getvalue()


def onnx_session(model_bytes, n_threads):
    """An ONNX Runtime session on ``n_threads`` threads of its own (no other pool is touched)."""
    onnxruntime = import_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = n_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def run_onnx(session, pixels, mean, std):
    """Pooled features of a batch of ``uint8`` NHWC pixels, scaled as ``(pixel - mean) / std``."""
    batch = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32)
    batch -= mean
    batch /= std
    return session.run(None, {"pixels": batch})[0]
