"""Deploy check (``tripleplay check --deploy``): on PostgreSQL with the SQL path on, FreeRADIUS's rlm_sql and
the logins reader should log in as a role of their own (TRIPLEPLAY_RADIUS_SQL_URL, ``tripleplay
radius-sql-role``), not as tripleplay's database user, the owner of every table (D301)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register

from tripleplay.radius import server


@register(Tags.security, deploy=True)
def check_radius_sql_login(app_configs=None, **kwargs) -> list[Warning]:
    return sql_login_warnings(settings.DATABASES["default"], settings.TRIPLEPLAY_RADIUS_SQL,
                              settings.TRIPLEPLAY_RADIUS_SQL_URL)


def sql_login_warnings(database: dict, enabled: bool, url: str) -> list[Warning]:
    if "postgresql" not in database.get("ENGINE", "") or not enabled:
        return []
    owner = server.database_user(database)
    if url:
        import dj_database_url

        user = dj_database_url.parse(url).get("USER") or ""
        if user and user != owner:
            return []
        what = f"TRIPLEPLAY_RADIUS_SQL_URL logs in as {owner}, tripleplay's own database user"
    else:
        what = "TRIPLEPLAY_RADIUS_SQL_URL is not set"
    return [Warning(
        f"{what}: FreeRADIUS's SQL path (rlm_sql, the logins reader) would hold the owner's rights on the whole "
        "billing database.",
        hint="Create its own role with `tripleplay radius-sql-role --name tripleplay_radius --password-file F` and "
             "set TRIPLEPLAY_RADIUS_SQL_URL=postgres://tripleplay_radius:...@host:port/db (or its _FILE) before "
             "rendering FreeRADIUS's configuration; TRIPLEPLAY_RADIUS_SQL=0 if the SQL path is not used "
             "(docs/radius.md, D301).",
        id="radius.W001",
    )]
