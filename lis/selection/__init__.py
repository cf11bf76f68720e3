"""Which courses and classes a school sends to Microsoft: read paths (selectors) and writes (services).

The publication (``lis/publication``) only reads: a course or class without a selection row, or
with ``sync`` off, is not sent. The LIS pages of the admin write through :mod:`.services`, which
records every change as a :class:`~lis.models.SelectionChange`.
"""
