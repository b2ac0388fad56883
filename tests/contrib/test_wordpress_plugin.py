"""The WordPress must-use plugin, loaded by real PHP with stubs of the WordPress functions it uses.

The harness calls the two filters exactly as WordPress 6.8.8's ``wp_http_validate_url()`` does
(``apply_filters('http_request_host_is_external', false, $host, $url)`` and
``apply_filters('http_allowed_safe_ports', array(80, 443, 8080), $host, $url)``) and prints what a
webhook delivery to each URL would meet. ``make test`` installs php-cli (scripts/install-system-packages.sh).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.config import ServerConfig

PLUGIN = Path(__file__).resolve().parents[2] / "contrib" / "wordpress" / "dynaccount-agent-loopback.php"
PHP = shutil.which("php")
pytestmark = pytest.mark.skipif(PHP is None, reason="run scripts/install-system-packages.sh first")

HARNESS = r"""
define('ABSPATH', '/');
%(defines)s
$GLOBALS['filters'] = array();
function add_filter($name, $callback, $priority = 10, $accepted_args = 1) {
    $GLOBALS['filters'][$name][] = array($callback, $accepted_args);
    return true;
}
function apply_filters($name, $value, ...$args) {
    foreach ($GLOBALS['filters'][$name] ?? array() as list($callback, $n)) {
        $value = $callback(...array_slice(array_merge(array($value), $args), 0, $n));
    }
    return $value;
}
function wp_parse_url($url, $component = -1) { return parse_url($url, $component); }
require %(plugin)s;
$out = array();
foreach (json_decode($argv[1]) as $url) {
    $host = parse_url($url, PHP_URL_HOST);
    $port = parse_url($url, PHP_URL_PORT);
    $external = apply_filters('http_request_host_is_external', false, $host, $url);
    $ports = apply_filters('http_allowed_safe_ports', array(80, 443, 8080), $host, $url);
    $out[$url] = array('external' => $external, 'port_allowed' => in_array($port, $ports, true));
}
echo json_encode($out);
"""


def run_plugin(urls: list[str], defines: str = "") -> dict[str, dict[str, bool]]:
    code = HARNESS % {"defines": defines, "plugin": json.dumps(str(PLUGIN))}
    assert PHP is not None
    done = subprocess.run([PHP, "-r", code, json.dumps(urls)], capture_output=True, text=True, check=True, timeout=30)
    result: dict[str, dict[str, bool]] = json.loads(done.stdout)
    return result


def test_defaults_are_the_agents_defaults() -> None:
    defaults = ServerConfig()
    url = f"http://{defaults.host}:{defaults.port}/webhooks/woocommerce"
    seen = run_plugin([url])
    assert seen[url] == {"external": True, "port_allowed": True}


def test_only_the_agents_host_and_port_are_let_through() -> None:
    others = ["http://127.0.0.1:9000/webhooks/woocommerce", "http://10.0.0.5:8787/webhooks/woocommerce",
              "http://192.168.1.2:22/"]
    seen = run_plugin(others)
    assert all(v == {"external": False, "port_allowed": False} for v in seen.values()), seen


def test_constants_in_wp_config_move_it() -> None:
    defines = "define('DYNACCOUNT_AGENT_HOST', '127.0.0.2'); define('DYNACCOUNT_AGENT_PORT', 9100);"
    moved, old = "http://127.0.0.2:9100/webhooks/woocommerce", "http://127.0.0.1:8787/webhooks/woocommerce"
    seen = run_plugin([moved, old], defines)
    assert seen[moved] == {"external": True, "port_allowed": True}
    assert seen[old] == {"external": False, "port_allowed": False}
