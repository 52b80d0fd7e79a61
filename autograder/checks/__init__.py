"""Hidden checks, one module per problem set (``psNN.py``), one function per test cell.

A test cell's hidden region calls e.g. ``ps01.conv2d_forward(conv2d_forward)``. Each
module's ``CONTRACTS`` (``contracts.py``) lists every graded function's properties; a
check probes each property with inputs that make it observable (``common.Run``), calls
the student's objects only through the reference-call guard, and fails with a
``CheckError`` that names the violated properties, never the expected values or the
hidden inputs, and prints nothing to stderr.
"""
