"""Hidden checks, one module per problem set (``psNN.py``), one function per test cell.

A test cell's hidden region calls e.g. ``ps01.conv2d_forward(conv2d_forward)``. A check
only calls the student's objects and reads what they return, raises ``AssertionError``
with a message that names what failed (never the expected values or hidden inputs), and
prints nothing to stderr.
"""
