"""telegram coverage: what a watch could not see, media fetched only as a poster or awaiting its file, history

A watch gains `coverage` (what the last run could not see or analyse), `since`, `history_position` and
`history_complete` (reading a channel back to a date); a media item gains `poster_only` and `not_fetched`.
Existing watches have no history to read and an empty coverage; existing media items were fetched whole.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-01 14:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("history_position", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("history_complete", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("media_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poster_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("not_fetched", sa.String(length=2000), nullable=True))
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.alter_column("coverage", existing_type=sa.JSON(), server_default=None)
        batch_op.alter_column("history_complete", existing_type=sa.Boolean(), server_default=None)
    with op.batch_alter_table("media_item", schema=None) as batch_op:
        batch_op.alter_column("poster_only", existing_type=sa.Boolean(), server_default=None)


def downgrade() -> None:
    """Media awaiting their file go back to pending (the old code looks for them again)."""
    op.execute("UPDATE media_item SET status = 'pending' WHERE status = 'awaiting_file'")
    with op.batch_alter_table("media_item", schema=None) as batch_op:
        batch_op.drop_column("not_fetched")
        batch_op.drop_column("poster_only")
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.drop_column("history_complete")
        batch_op.drop_column("history_position")
        batch_op.drop_column("since")
        batch_op.drop_column("coverage")
