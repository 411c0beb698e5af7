"""an index of the pending messages no worker has claimed, in id order

A gathering automation worker takes the oldest of them on every claim.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_WHERE = sa.text("automation_state = 'pending' AND automation_next_attempt_at IS NULL")


def upgrade():
    op.create_index('ix_messages_automation_unclaimed', 'messages', ['id'], unique=False,
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade():
    op.drop_index('ix_messages_automation_unclaimed', table_name='messages')
