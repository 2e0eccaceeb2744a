"""Alembic environment for TaskService's tables."""

from services.servicekit import alembic_env
from services.tasks.tables import Base

alembic_env.run(Base.metadata)
