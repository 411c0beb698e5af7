"""automation that learns: suggestions below the threshold, feedback on answers, proposals

businesses.suggestion_floor (the lowest confidence at which a question gets FAQ
suggestions); on messages: reply_to_id (a bot reply's question), outcome (what the
automation made of a customer message), suggestions (the FAQs suggested for it),
feedback and feedback_at (the customer's verdict on an FAQ answer); and faq_proposals,
customer questions proposed as new phrasings of an FAQ for staff to accept or reject.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestion_floor', sa.Float(), server_default='0.3', nullable=False))
        batch_op.create_check_constraint('suggestion_floor', 'suggestion_floor >= 0 AND suggestion_floor <= 1')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to_id', _ID, nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('suggestions', _JSON, nullable=True))
        batch_op.add_column(sa.Column('feedback', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_messages_reply_to_id_messages', 'messages', ['reply_to_id'], ['id'], ondelete='SET NULL')
    op.create_table(
        'faq_proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('business_id', sa.Integer(), nullable=False),
        sa.Column('faq_id', sa.Integer(), nullable=False),
        sa.Column('question', sa.String(length=500), nullable=False),
        sa.Column('source_message_id', _ID, nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected')", name=op.f('ck_faq_proposals_status')),
        sa.ForeignKeyConstraint(['business_id'], ['businesses.id'], name=op.f('fk_faq_proposals_business_id_businesses'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_faq_proposals_decided_by_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['faq_id'], ['faqs.id'], name=op.f('fk_faq_proposals_faq_id_faqs'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['source_message_id'], ['messages.id'], name=op.f('fk_faq_proposals_source_message_id_messages'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_proposals')),
        sa.UniqueConstraint('source_message_id', name='uq_faq_proposals_source_message_id'),
    )
    with op.batch_alter_table('faq_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_faq_proposals_business_status', ['business_id', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_proposals_faq_id'), ['faq_id'], unique=False)


def downgrade():
    with op.batch_alter_table('faq_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_proposals_faq_id'))
        batch_op.drop_index('ix_faq_proposals_business_status')
    op.drop_table('faq_proposals')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('fk_messages_reply_to_id_messages', type_='foreignkey')
        batch_op.drop_column('feedback_at')
        batch_op.drop_column('feedback')
        batch_op.drop_column('suggestions')
        batch_op.drop_column('outcome')
        batch_op.drop_column('reply_to_id')
    with op.batch_alter_table('businesses', schema=None) as batch_op:
        batch_op.drop_constraint('suggestion_floor', type_='check')
        batch_op.drop_column('suggestion_floor')
