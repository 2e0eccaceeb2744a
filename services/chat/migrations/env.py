"""Alembic environment for ChatService's tables."""

from services.chat.tables import Base
from services.servicekit import alembic_env

alembic_env.run(Base.metadata)
