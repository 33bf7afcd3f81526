"""gunicorn settings of the web workers: ``gunicorn -c python:reliefsvc.gunicorn_conf ...``
(docs/operations.md, "What runs").

``post_worker_init``: once a worker has built the application, the objects it holds for its
whole life (the models' metadata, compiled templates, routes, catalogues — some hundreds of
thousands) are moved out of the cyclic garbage collector's sight with ``gc.freeze()``. A
full collection then looks only at what requests made: on the record list it took 3 ms
instead of 119 ms, a pause that held every thread of the worker and set the pages' slowest
answers (issue 16, bench/README.md).
"""

from __future__ import annotations

import gc


def post_worker_init(worker) -> None:
    gc.collect()
    gc.freeze()
