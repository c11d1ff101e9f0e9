"""media analyses indexed by when they were stored: a content about to found a perceptual cluster looks again at
the analyses stored while it was analysed (by other processes), and only at those

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 18:11:16.128065
"""

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_analysis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_analysis_analysed_at'), ['analysed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('media_analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_analysis_analysed_at'))
