<?php
/**
 * Plugin Name: Dynaccount agent loopback webhooks
 * Description: Lets WooCommerce deliver webhooks to the Dynaccount agent on this host (and nothing else).
 * Version: 1.0.0
 *
 * Install as a must-use plugin: copy to wp-content/mu-plugins/. WordPress's wp_safe_remote_request()
 * refuses loopback/private addresses and ports other than 80/443/8080, so WooCommerce cannot reach an
 * agent listening on 127.0.0.1:8787 (the agent's default `[server] port`). These two filters allow exactly the agent's host and port.
 * Set the constants in wp-config.php if the agent does not listen on the defaults below.
 */

defined( 'ABSPATH' ) || exit;

if ( ! defined( 'DYNACCOUNT_AGENT_HOST' ) ) {
	define( 'DYNACCOUNT_AGENT_HOST', '127.0.0.1' );
}
if ( ! defined( 'DYNACCOUNT_AGENT_PORT' ) ) {
	define( 'DYNACCOUNT_AGENT_PORT', 8787 );
}

add_filter(
	'http_request_host_is_external',
	static function ( $external, $host, $url ) {
		if ( DYNACCOUNT_AGENT_HOST === $host && (int) wp_parse_url( $url, PHP_URL_PORT ) === (int) DYNACCOUNT_AGENT_PORT ) {
			return true;
		}
		return $external;
	},
	10,
	3
);

add_filter(
	'http_allowed_safe_ports',
	static function ( $ports, $host, $url ) {
		if ( DYNACCOUNT_AGENT_HOST === $host ) {
			$ports[] = (int) DYNACCOUNT_AGENT_PORT;
		}
		return $ports;
	},
	10,
	3
);
