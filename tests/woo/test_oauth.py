"""OAuth 1.0a signing: the RFC 5849 vector, and WooCommerce's double encoding of parameter values."""

from __future__ import annotations

from agent.woo import oauth


def test_rfc5849_vector() -> None:
    params = {"oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
              "oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "1191242096",
              "oauth_nonce": "kllo9940pd9333jh", "oauth_version": "1.0", "file": "vacation.jpg", "size": "original"}
    sig = oauth.signature("GET", "http://photos.example.net/photos", params, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00")
    assert sig == "tR3+Ty81lMeYAr/Fid0kMTYa/WM="


def test_values_are_encoded_twice_like_woocommerce() -> None:
    # WooCommerce 10.0.2 normalize_parameters + join_with_equals_sign: enc(enc(k) "=" enc(v)).
    # A real shop answered 401 to the single-encoded form of exactly this request and 200 to this one.
    base = oauth.base_string("GET", "http://shop.test/wp-json/wc/v3/orders",
                             {"modified_after": "2026-11-24T05:56:49", "oauth_nonce": "n", "sku": "A,B"})
    assert base == ("GET&http%3A%2F%2Fshop.test%2Fwp-json%2Fwc%2Fv3%2Forders&"
                    "modified_after%3D2026-11-24T05%253A56%253A49%26oauth_nonce%3Dn%26sku%3DA%252CB")


def test_sign_and_verify_round_trip() -> None:
    url = "http://127.0.0.1:8080/wp-json/wc/v3/products"
    signed = oauth.sign_params("GET", url, {"sku": "KRUS-001"}, "ck_a", "cs_b", nonce="abc", timestamp=1)
    assert oauth.verify_params("GET", url, signed, "cs_b")
    assert not oauth.verify_params("GET", url, signed, "cs_wrong")
    assert not oauth.verify_params("GET", url, {**signed, "sku": "KRUS-002"}, "cs_b")
