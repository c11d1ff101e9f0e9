"""perceptual clusters of videos: a video's (or an animation's) sequence of frame dHashes and its length

Existing video analyses keep no hash (their files are not kept): their alerts stay keyed by their sha256, and a
byte-identical repost still finds them; a re-encode of an older video founds a cluster of its own.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_analysis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vhash', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('vhash_samples', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_media_analysis_vhash_samples'), ['vhash_samples'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('media_analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_analysis_vhash_samples'))
        batch_op.drop_column('vhash_samples')
        batch_op.drop_column('vhash')
