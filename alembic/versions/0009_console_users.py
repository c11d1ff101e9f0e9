"""console users and their sessions; who acted, when a user did, in the audit log

Users sign in to the web console with an email and a password (argon2); a session row per signed-in browser holds
the cookie token's hash and its CSRF token. Existing audit events keep no user (they were made by keys).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_user',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=True),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('organization_id', sa.Uuid(), nullable=True),
        sa.Column('person_id', sa.Uuid(), nullable=True),
        sa.Column('password_token_hash', sa.String(length=64), nullable=True),
        sa.Column('password_token_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
        sa.UniqueConstraint('password_token_hash'),
    )
    with op.batch_alter_table('console_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_user_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_user_person_id'), ['person_id'], unique=False)
    op.create_table(
        'console_session',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['console_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('console_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_session_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_user_id', sa.Uuid(), nullable=True))


def downgrade() -> None:
    """Back to 0006: console users, their sessions and the audit log's user column are dropped."""
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('actor_user_id')
    op.drop_table('console_session')
    op.drop_table('console_user')
