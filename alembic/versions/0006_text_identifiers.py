"""text identifiers: a person's websites, distinctive aliases and which text signals alert; a post's links, phone
entities and link preview; an alert's tier reason, corroborating kinds and campaign terms

Existing people keep their phone numbers and aliases; their name mentions are `possible` (kept for review) and
their phone and website alerts on. Existing posts have no links, phone entities or preview (they were not read).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

EMPTY_LIST = sa.text("'[]'")


def _json_list(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON(), nullable=False, server_default=EMPTY_LIST)


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(_json_list('websites'))
        batch_op.add_column(_json_list('distinctive_aliases'))
        batch_op.add_column(sa.Column('name_mentions', sa.String(length=20), nullable=False, server_default='possible'))
        batch_op.add_column(sa.Column('phone_alerts', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('website_alerts', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.add_column(_json_list('urls'))
        batch_op.add_column(_json_list('phone_entities'))
        batch_op.add_column(sa.Column('preview', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(_json_list('corroborated_by'))
        batch_op.add_column(_json_list('campaign_terms'))
    _drop_server_defaults()


def _drop_server_defaults() -> None:
    """The defaults filled the existing rows; new rows get theirs from the models, as every other column does."""
    columns = {
        'person': [('websites', sa.JSON()), ('distinctive_aliases', sa.JSON()), ('name_mentions', sa.String(20)),
                   ('phone_alerts', sa.Boolean()), ('website_alerts', sa.Boolean())],
        'post': [('urls', sa.JSON()), ('phone_entities', sa.JSON()), ('preview', sa.Text())],
        'alert': [('corroborated_by', sa.JSON()), ('campaign_terms', sa.JSON())],
    }
    for table, table_columns in columns.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_ in table_columns:
                batch_op.alter_column(name, existing_type=type_, existing_nullable=False, server_default=None)


def downgrade() -> None:
    """Back to 0005: the new identifiers, a post's links and preview, and the fusion fields are dropped; urgent
    priorities become high (0005 knew no higher)."""
    op.execute("UPDATE alert SET priority = 'high' WHERE priority = 'urgent'")
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('campaign_terms')
        batch_op.drop_column('corroborated_by')
        batch_op.drop_column('tier_reason')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_column('preview')
        batch_op.drop_column('phone_entities')
        batch_op.drop_column('urls')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('website_alerts')
        batch_op.drop_column('phone_alerts')
        batch_op.drop_column('name_mentions')
        batch_op.drop_column('distinctive_aliases')
        batch_op.drop_column('websites')
