"""What a trained network sees: filters, feature maps, saliency, occlusion, CAM, transfer.

One concept per module; every function is seeded by an argument and leaves the
model it looks at as it found it (parameters, ``requires_grad``, gradients,
train/eval mode of every module, hooks) and torch's and NumPy's global random
generators untouched. Computations run on one CPU thread (torch's setting is
restored afterwards): the networks here are small, one thread is as fast as two
for them, and it does not slow down badly when another process holds a core.

* :mod:`~cnnbook.seeing.training`: :func:`trained_lenet` (LeNet-5 on the digits with
  chapter 5's recipe), :func:`train`, :func:`he_init`.
* :mod:`~cnnbook.seeing.features`: :func:`conv_filters`, :func:`feature_maps`.
* :mod:`~cnnbook.seeing.saliency`: :func:`saliency` (gradient, gradient x input,
  SmoothGrad).
* :mod:`~cnnbook.seeing.occlusion`: :func:`occlusion`, :class:`Occlusion`.
* :mod:`~cnnbook.seeing.cam`: :func:`cam_lenet` (a GAP head on LeNet),
  :func:`trained_cam_lenet`, :func:`class_activation_maps`, :func:`gap_field`,
  :func:`upsample_to_input`.
* :mod:`~cnnbook.seeing.probe`: :func:`fit_linear_probe`, a linear classifier on
  fixed features.
* :mod:`~cnnbook.seeing.transfer`: :func:`transfer_experiment` (digits 0-4 to 5-9
  with ``k`` labels per class), :func:`pretrain`, :func:`fit_target`.
* :mod:`~cnnbook.seeing.figures`: a figure for each of the above, from its arrays.
"""

from cnnbook.seeing.cam import (ClassActivationMaps, cam_lenet, class_activation_maps,
                                gap_field, trained_cam_lenet, upsample_to_input)
from cnnbook.seeing.features import conv_filters, feature_maps
from cnnbook.seeing.figures import (plot_attributions, plot_feature_maps, plot_filters,
                                    plot_transfer)
from cnnbook.seeing.occlusion import Occlusion, occlusion
from cnnbook.seeing.probe import LinearProbe, fit_linear_probe
from cnnbook.seeing.saliency import saliency
from cnnbook.seeing.training import Trained, he_init, train, trained_lenet
from cnnbook.seeing.transfer import TransferResult, fit_target, pretrain, transfer_experiment

__all__ = [
    "trained_lenet", "train", "he_init", "Trained",
    "conv_filters", "feature_maps",
    "saliency",
    "occlusion", "Occlusion",
    "cam_lenet", "trained_cam_lenet", "class_activation_maps", "ClassActivationMaps",
    "gap_field", "upsample_to_input",
    "fit_linear_probe", "LinearProbe",
    "transfer_experiment", "TransferResult", "pretrain", "fit_target",
    "plot_filters", "plot_feature_maps", "plot_attributions", "plot_transfer",
]
