from replay_support import (  # noqa: F401 - fixtures are found by name
    default_cassette_name,
    replay,
    vcr_cassette_dir,
    vcr_config,
)
