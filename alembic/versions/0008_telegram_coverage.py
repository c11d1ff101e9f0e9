"""telegram coverage: what a watch could not see, media fetched only as a poster or awaiting its file, history

A watch gains `coverage` (what the last run could not see or analyse), `since`, `history_position` and
`history_complete` (reading a channel back to a date); a media item gains `poster_only` and `not_fetched`.
Existing watches have no history to read and an empty coverage; existing media items were fetched whole.
Candidate channels (where watched posts point) get their tables, empty: they fill from the next posts stored;
resolved Telegram usernames (`telegram_peer`) too, filled as watches run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('watch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coverage', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('history_position', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('history_complete', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('poster_only', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('not_fetched', sa.String(length=2000), nullable=True))
    _create_candidate_tables()
    op.create_table(
        'telegram_peer',
        sa.Column('username', sa.String(length=32), nullable=False),
        sa.Column('channel_id', sa.BigInteger(), nullable=False),
        sa.Column('access_hash', sa.BigInteger(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('username'),
    )
    with op.batch_alter_table('watch', schema=None) as batch_op:
        batch_op.alter_column('coverage', existing_type=sa.JSON(), server_default=None)
        batch_op.alter_column('history_complete', existing_type=sa.Boolean(), server_default=None)
    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.alter_column('poster_only', existing_type=sa.Boolean(), server_default=None)


def _create_candidate_tables() -> None:
    op.create_table(
        'candidate_channel',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('username', sa.String(length=32), nullable=True),
        sa.Column('name', sa.String(length=300), nullable=True),
        sa.Column('posts_count', sa.Integer(), nullable=False),
        sa.Column('forwards_count', sa.Integer(), nullable=False),
        sa.Column('links_count', sa.Integer(), nullable=False),
        sa.Column('mentions_count', sa.Integer(), nullable=False),
        sa.Column('alerts_count', sa.Integer(), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('watched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_candidate_channel_last_seen_at', 'candidate_channel', ['last_seen_at'], unique=False)
    op.create_table(
        'candidate_pointer',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('candidate_id', sa.Uuid(), nullable=False),
        sa.Column('post_id', sa.Uuid(), nullable=False),
        sa.Column('via', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidate_channel.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['post_id'], ['post.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('candidate_id', 'post_id', name='uq_candidate_pointer'),
    )
    op.create_index('ix_candidate_pointer_candidate_id', 'candidate_pointer', ['candidate_id'], unique=False)
    op.create_index('ix_candidate_pointer_post_id', 'candidate_pointer', ['post_id'], unique=False)
    op.create_table(
        'candidate_alert',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('candidate_id', sa.Uuid(), nullable=False),
        sa.Column('alert_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['candidate_id'], ['candidate_channel.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('candidate_id', 'alert_id', name='uq_candidate_alert'),
    )
    op.create_index('ix_candidate_alert_candidate_id', 'candidate_alert', ['candidate_id'], unique=False)
    op.create_index('ix_candidate_alert_alert_id', 'candidate_alert', ['alert_id'], unique=False)


def downgrade() -> None:
    """Media awaiting their file go back to pending (the old code looks for them again); candidate channels go."""
    op.drop_table('telegram_peer')
    op.drop_table('candidate_alert')
    op.drop_table('candidate_pointer')
    op.drop_index('ix_candidate_channel_last_seen_at', table_name='candidate_channel')
    op.drop_table('candidate_channel')
    op.execute("UPDATE media_item SET status = 'pending' WHERE status = 'awaiting_file'")
    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.drop_column('not_fetched')
        batch_op.drop_column('poster_only')
    with op.batch_alter_table('watch', schema=None) as batch_op:
        batch_op.drop_column('history_complete')
        batch_op.drop_column('history_position')
        batch_op.drop_column('since')
        batch_op.drop_column('coverage')
