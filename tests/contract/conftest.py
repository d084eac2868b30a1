from cassette_support import target, vcr_cassette_dir, vcr_config  # noqa: F401 - fixtures
