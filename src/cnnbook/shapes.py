"""Shape arithmetic for convolutional networks, the book's one import: pure Python.

The names live in modules with one job each, and are the same objects here:

* :mod:`cnnbook.arithmetic`: output sizes (:func:`conv_output_size`), parameter and
  multiply-accumulate counts (:func:`conv_params`, :func:`linear_params`,
  :func:`conv_macs`, :func:`linear_macs`), :func:`as_pair`;
* :mod:`cnnbook.walk`: one walk through an architecture (:func:`walk`, :class:`Step`),
  :func:`layer_names`, :func:`layer_output_shape`;
* :mod:`cnnbook.summary`: the layer table (:func:`summary`, :class:`Summary`,
  :class:`SummaryRow`, :func:`inception_table`);
* :mod:`cnnbook.receptive_field`: :func:`receptive_fields`, :class:`ReceptiveField`.
"""

from cnnbook.arithmetic import (as_pair, conv_macs, conv_output_size, conv_params, linear_macs,
                                linear_params)
from cnnbook.receptive_field import ReceptiveField, receptive_fields
from cnnbook.summary import Summary, SummaryRow, inception_table, summary
from cnnbook.walk import Step, layer_names, layer_output_shape, walk
from cnnbook.window import Window

__all__ = [
    "as_pair", "conv_output_size", "conv_params", "linear_params", "conv_macs", "linear_macs",
    "Step", "walk", "layer_names", "layer_output_shape", "Window",
    "Summary", "SummaryRow", "summary", "inception_table",
    "ReceptiveField", "receptive_fields",
]
