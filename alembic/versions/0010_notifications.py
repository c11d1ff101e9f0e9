"""notification channels (Telegram chats, email addresses) with their filters, their outbox and every attempt;
reports from the public (the reporting bot), and whether a person accepts them and may be named

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:50:30.745226
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_channel',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('person_ids', sa.JSON(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('digest_hour', sa.Integer(), nullable=True),
    sa.Column('digest_sent_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_channel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_channel_organization_id'), ['organization_id'], unique=False)

    op.create_table('notification_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('channel_id', sa.Uuid(), nullable=False),
    sa.Column('alert_id', sa.Uuid(), nullable=True),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('changed', sa.JSON(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('one_more_attempt', sa.Boolean(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['channel_id'], ['notification_channel.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_delivery_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_notification_delivery_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('notification_attempt',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['notification_delivery.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_attempt_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('public_report',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reporter_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('public_report', schema=None) as batch_op:
        batch_op.create_index('ix_public_report_reporter_time', ['reporter_hash', 'received_at'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_reports', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('public_name', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('public_name')
        batch_op.drop_column('public_reports')

    with op.batch_alter_table('public_report', schema=None) as batch_op:
        batch_op.drop_index('ix_public_report_reporter_time')

    op.drop_table('public_report')
    with op.batch_alter_table('notification_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_attempt_delivery_id'))

    op.drop_table('notification_attempt')
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_delivery_due')
        batch_op.drop_index(batch_op.f('ix_notification_delivery_channel_id'))
        batch_op.drop_index(batch_op.f('ix_notification_delivery_alert_id'))

    op.drop_table('notification_delivery')
    with op.batch_alter_table('notification_channel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_channel_organization_id'))

    op.drop_table('notification_channel')
