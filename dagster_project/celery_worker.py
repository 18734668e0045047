"""The Celery app a worker runs for this project: `dagster-celery worker start -A dagster_project.celery_worker`.

It is dagster-celery's own app and task (each task runs one Dagster step, in the worker's
process, against the instance the run's event log lives in), configured from the environment of
the worker: the broker and result backend ($DLCR_CELERY_BROKER, the URL the runs use) and the
redelivery time ($DLCR_CELERY_REDELIVERY_S); see ``celery_worker_settings`` for why a worker
acknowledges a step only when it ends.
"""
from __future__ import annotations

from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from dagster_project.execution import celery_broker, celery_worker_settings, redelivery_seconds

_broker = celery_broker()
app = make_app(CeleryExecutor(retries=RetryMode.DISABLED, broker=_broker, backend=_broker,
                              config_source=celery_worker_settings(redelivery_seconds())).app_args())
execute_plan = create_task(app)
