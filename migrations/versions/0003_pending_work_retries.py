"""pending work retries: when the sweep may next hand a message or audit entry to a worker

Attempts now count workers' attempts only; failed rows are retried after a backoff,
found through a partial index on the failed ones. Rows failed before this revision have
no retry time: the sweep leaves them to an operator (flask automation failed).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automation_next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_automation_failed', ['automation_next_attempt_at'], unique=False, sqlite_where=sa.text("automation_state = 'failed'"), postgresql_where=sa.text("automation_state = 'failed'"))
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_audit_logs_failed', ['next_attempt_at'], unique=False, sqlite_where=sa.text("processing_state = 'failed'"), postgresql_where=sa.text("processing_state = 'failed'"))


def downgrade():
    with op.batch_alter_table('audit_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_logs_failed', sqlite_where=sa.text("processing_state = 'failed'"), postgresql_where=sa.text("processing_state = 'failed'"))
        batch_op.drop_column('next_attempt_at')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_automation_failed', sqlite_where=sa.text("automation_state = 'failed'"), postgresql_where=sa.text("automation_state = 'failed'"))
        batch_op.drop_column('automation_next_attempt_at')
