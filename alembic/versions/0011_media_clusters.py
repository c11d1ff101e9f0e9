"""perceptual clusters of media: a photo's dHash, its cluster and the analysis it reuses

Existing analyses keep no hash and no cluster (their files are not kept): their alerts stay keyed by their sha256,
and a byte-identical repost still finds them; a re-encode of an older fake founds a cluster of its own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_analysis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phash', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('cluster', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reused_from', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_media_analysis_cluster'), ['cluster'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('media_analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_analysis_cluster'))
        batch_op.drop_column('reused_from')
        batch_op.drop_column('cluster')
        batch_op.drop_column('phash')
