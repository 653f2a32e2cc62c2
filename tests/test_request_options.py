"""One table of per-request options (`fer_runtime.request_options`) makes fer-run's options, the service's query
parser and OpenAPI schema, and RecognizerSettings' checks: the same name, range and complaint everywhere."""

import pytest
from click.testing import CliRunner

from fer_runtime.cli import main
from fer_runtime.errors import FerError
from fer_runtime.recognizer_settings import RecognizerSettings
from fer_runtime.request_options import REQUEST_OPTIONS, RequestOption
from fer_runtime.serve.errors import RequestError
from fer_runtime.serve.openapi import openapi_schema
from fer_runtime.serve.reading import analyze_options

NUMERIC = [o for o in REQUEST_OPTIONS if o.kind is not bool]


def _outside(option: RequestOption) -> float:
    """A value just outside the option's range (at an open bound, the bound itself)."""
    if option.high is not None:
        return option.high if option.open_high else option.high + 0.5
    assert option.low is not None
    return option.low if option.open_low else option.low - 1


def test_openapi_query_parameters_are_the_table():
    post = openapi_schema(["angry", "happy"], token=False)["paths"]["/v1/analyze"]["post"]
    query = {p["name"]: p for p in post["parameters"] if p["in"] == "query"}
    assert list(query) == [o.name for o in REQUEST_OPTIONS]
    for option in REQUEST_OPTIONS:
        assert query[option.name]["schema"] == option.json_schema() and query[option.name]["description"] == option.help
    assert query["detect_threshold"]["schema"] == {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}


@pytest.mark.parametrize("option", NUMERIC, ids=lambda o: o.name)
def test_out_of_range_is_refused_alike_by_the_service_and_the_command_line(option):
    value = _outside(option)
    text = str(int(value)) if option.kind is int else str(value)
    with pytest.raises(RequestError) as refused:
        analyze_options([(option.name, text)])
    assert refused.value.status == 422 and str(refused.value) == option.out_of_range(option.kind(value))
    result = CliRunner().invoke(main, [option.flag, text, "no-such-photo.jpg"])
    assert result.exit_code == 2 and option.flag in result.output
    if option.name in {f for f in RecognizerSettings.__dataclass_fields__}:
        with pytest.raises(FerError, match=option.name):
            RecognizerSettings(**{option.name: value})


def test_in_range_values_and_the_flag_parse():
    options = analyze_options(
        [("min_confidence", "0.4"), ("top_k", "2"), ("detect_threshold", "0.5"), ("no_detect", "1")]
    )
    assert (options.min_confidence, options.top_k, options.detect_threshold, options.detect) == (0.4, 2, 0.5, False)
    assert analyze_options([]).detect and analyze_options([("no_detect", "off")]).detect
    help_text = CliRunner().invoke(main, ["--help"]).output
    assert all(option.flag in help_text for option in REQUEST_OPTIONS)
