"""re-scans kept with their progress, so any process and the API after a restart read how far one came

Re-scans started before this revision were kept in memory only: there is nothing to carry over.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 16:52:31.771505
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rescan',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('not_kept', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('detections_added', sa.Integer(), nullable=False),
    sa.Column('alerts_touched', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rescan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rescan_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rescan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rescan_person_id'))

    op.drop_table('rescan')
