import pytest
from django.core.exceptions import ImproperlyConfigured

from service_runtime.environment.readers import env_bool, env_database, env_float, env_int, env_list, env_str


def test_str_reads_value_or_default():
    assert env_str("NAME", environ={"NAME": "x"}) == "x"
    assert env_str("NAME", "fallback", environ={}) == "fallback"


def test_missing_required_value_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is not set"):
        env_str("DJANGO_SECRET_KEY", environ={})


def test_empty_value_is_rejected():
    with pytest.raises(ImproperlyConfigured, match="NAME is set but empty"):
        env_str("NAME", environ={"NAME": "  "})


@pytest.mark.parametrize(("text", "expected"), [("4", 4), (" 12 ", 12), ("0", 0)])
def test_int_parses_whole_numbers(text, expected):
    assert env_int("N", environ={"N": text}) == expected


@pytest.mark.parametrize("text", ["four", "1.5", "", "0x10"])
def test_int_rejects_non_numbers_with_value_and_rule(text):
    with pytest.raises(ImproperlyConfigured) as raised:
        env_int("WEB_CONCURRENCY", minimum=1, maximum=64, environ={"WEB_CONCURRENCY": text})
    assert f"WEB_CONCURRENCY={text!r} is not a whole number from 1 to 64" == str(raised.value)


@pytest.mark.parametrize("text", ["0", "65"])
def test_int_rejects_out_of_range(text):
    with pytest.raises(ImproperlyConfigured, match=rf"WEB_CONCURRENCY='{text}' is out of range: use a whole number"):
        env_int("WEB_CONCURRENCY", minimum=1, maximum=64, environ={"WEB_CONCURRENCY": text})


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("ON", True), ("1", True), ("no", False), ("0", False)])
def test_bool_words(text, expected):
    assert env_bool("FLAG", environ={"FLAG": text}) is expected


def test_bool_rejects_other_words():
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", environ={"FLAG": "maybe"})


def test_list_splits_on_commas_and_drops_blanks():
    assert env_list("HOSTS", environ={"HOSTS": "a.example, b.example,"}) == ["a.example", "b.example"]
    assert env_list("HOSTS", [], environ={}) == []


def test_list_rejects_only_commas():
    with pytest.raises(ImproperlyConfigured, match="HOSTS=',' holds no items"):
        env_list("HOSTS", environ={"HOSTS": ","})


def test_database_url_switches_to_postgresql():
    config = env_database("DATABASE_URL", "sqlite:///x", environ={"DATABASE_URL": "postgres://u:pw@db:5432/orders"})
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db", 5432, "orders")


def test_bad_database_url_error_hides_the_password():
    with pytest.raises(ImproperlyConfigured) as raised:
        env_database("DATABASE_URL", "sqlite:///x", environ={"DATABASE_URL": "nosuchdb://u:secret@h/db"})
    assert "DATABASE_URL (scheme 'nosuchdb')" in str(raised.value)
    assert "secret" not in str(raised.value)


def test_float_reads_decimals_within_bounds():
    assert env_float("T", minimum=0.001, maximum=60, environ={"T": "0.25"}) == 0.25


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fast", "is not a number"),
        ("nan", "is not a finite number"),
        ("inf", "is not a finite number"),
        ("-inf", "is not a finite number"),
        ("61", "is out of range"),
    ],
)
def test_float_rejections_name_the_variable(text, problem):
    with pytest.raises(ImproperlyConfigured) as raised:
        env_float("THRESHOLD", minimum=0.001, maximum=60, environ={"THRESHOLD": text})
    assert str(raised.value).startswith(f"THRESHOLD={text!r} {problem}")
    assert str(raised.value).endswith("a number from 0.001 to 60")


SECRET_URLS = {
    "libpq-keywords": "host=db dbname=orders user=u password=hunter2",
    "bare-word": "hunter2",
    "no-scheme": "//u:hunter2@db/orders",
    "bad-port": "postgres://u:hunter2@db:notaport/orders",
    "unknown-scheme": "nosuchdb://u:hunter2@db/orders",
    "scheme-with-space": "post gres://u:hunter2@db/orders",
    "no-database-name": "postgres://u:hunter2@db:5432",
    "no-database-name-slash": "postgres://u:hunter2@db:5432/",
}


@pytest.mark.parametrize("url", SECRET_URLS.values(), ids=SECRET_URLS.keys())
def test_a_bad_database_url_is_refused_without_its_text(url):
    with pytest.raises(ImproperlyConfigured) as raised:
        env_database("DATABASE_URL", "sqlite:///x", environ={"DATABASE_URL": url})
    message = str(raised.value)
    assert message.startswith("DATABASE_URL ") and "\n" not in message
    assert "hunter2" not in message and "dbname" not in message, message
