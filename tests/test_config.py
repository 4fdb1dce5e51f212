from pathlib import Path

import pytest

from forecasting.config import (
    Config,
    SiteSettings,
    config_from_dict,
    load_config,
    load_sites,
    sites_yaml,
)
from forecasting.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_default_yaml_when_loaded_equals_embedded_defaults():
    assert load_config(ROOT / "configs" / "default.yaml") == Config()


def test_load_config_when_none_gives_defaults():
    cfg = load_config(None)
    assert cfg.horizon == 7
    assert cfg.thresholds.occupancy_ceiling == 0.92


def test_config_error_when_key_unknown_names_file_and_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("horizon: 7\nthresholds:\n  occupancy_cieling: 0.9\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert str(p) in msg
    assert "key 'thresholds.occupancy_cieling': unknown key" in msg
    assert "\n" not in msg


def test_config_error_when_value_out_of_range_shows_value(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("horizon: 0\n")
    with pytest.raises(
        ConfigError, match=r"key 'horizon': Input should be greater than or equal to 1 \(got 0\)"
    ):
        load_config(p)


def test_config_error_when_comfort_not_below_ceiling():
    with pytest.raises(ConfigError, match="occupancy_comfort must be below occupancy_ceiling"):
        config_from_dict({"thresholds": {"occupancy_comfort": 0.95, "occupancy_ceiling": 0.92}})


def test_config_error_when_weekday_schedule_has_wrong_length():
    with pytest.raises(ConfigError, match=r"key 'sites.a.electives_by_weekday': needs 7"):
        config_from_dict({"sites": {"a": {"electives_by_weekday": [1, 2, 3]}}})


def test_config_error_when_yaml_is_malformed_names_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("horizon: 7\ncolumns: [a, b\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d"):
        load_config(p)


def test_config_error_when_file_missing(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_site_settings_when_partially_configured_fall_back_to_defaults():
    cfg = config_from_dict({"sites": {"a": {"beds": 400, "admission_rate": 0.3}}})
    a = cfg.site("a")
    assert (a.beds, a.admission_rate, a.mean_los_emergency) == (400, 0.3, 5.5)
    assert cfg.site("unknown").beds is None


def test_sites_yaml_when_written_reads_back_equal(tmp_path):
    sites = {
        "s1": SiteSettings(name="North", beds=500, electives_by_weekday=(30, 32, 31, 30, 28, 4, 2)),
        "s2": SiteSettings(beds=250, admission_rate=0.22),
    }
    p = tmp_path / "sites.yaml"
    p.write_text(sites_yaml(sites))
    assert load_sites(p) == sites
