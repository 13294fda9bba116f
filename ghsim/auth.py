"""App JWTs checked as GitHub checks them, and opaque installation tokens that expire."""

from __future__ import annotations

import random
import secrets
import string
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghsim.state import IssuedToken, World

MAX_JWT_LIFETIME = 600  # seconds between iat and exp, as GitHub allows
CLOCK_ALLOWANCE = 30  # seconds of drift tolerated on either side
_ALPHANUM = string.ascii_letters + string.digits


class AuthError(Exception):
    """A credential GitHub would answer 401 for; the message is GitHub's wording."""


def generate_private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_of(private_key_pem: bytes) -> rsa.RSAPublicKey:
    # The simulator only needs the public half; skipping the slow consistency check is safe.
    key = serialization.load_pem_private_key(
        private_key_pem, password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("a GitHub App key must be an RSA private key")
    return key.public_key()


def looks_like_jwt(credential: str) -> bool:
    return credential.startswith("eyJ") and credential.count(".") == 2


def verify_app_jwt(
    token: str, *, public_key: rsa.RSAPublicKey, app_id: int, client_id: str, now: float
) -> dict:
    """The claims of a valid app JWT; AuthError otherwise.

    GitHub requires RS256, `iss` equal to the App ID (number or string) or the client ID,
    `exp` in the future but at most ten minutes after `iat`, and `iat` not in the future."""
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_iss": False,
                "verify_aud": False,
            },
        )
    except jwt.PyJWTError as err:
        raise AuthError("A JSON web token could not be decoded") from err
    iat, exp, iss = claims.get("iat"), claims.get("exp"), claims.get("iss")
    if not isinstance(exp, int | float) or exp <= now - CLOCK_ALLOWANCE:
        raise AuthError(
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires"
        )
    if not isinstance(iat, int | float) or iat > now + CLOCK_ALLOWANCE:
        raise AuthError(
            "'Issued at' claim ('iat') must be an Integer representing the time that the "
            "assertion was issued"
        )
    if exp - iat > MAX_JWT_LIFETIME + CLOCK_ALLOWANCE or exp > now + MAX_JWT_LIFETIME + (
        CLOCK_ALLOWANCE
    ):
        raise AuthError("'Expiration time' claim ('exp') is too far in the future")
    if str(iss) not in (str(app_id), client_id):
        raise AuthError("'Issuer' claim ('iss') must be an Integer or the App's client ID")
    return claims


def new_token_string(rng: random.Random) -> str:
    """An installation token: `ghs_` and a body whose length and alphabet vary, as GitHub's
    classic (36 characters) and stateless (long, dotted) formats do. Callers must not parse it."""
    shape = rng.choice(("classic", "long", "dotted"))
    if shape == "classic":
        return "ghs_" + "".join(secrets.choice(_ALPHANUM) for _ in range(36))
    if shape == "long":
        return "ghs_" + secrets.token_urlsafe(rng.randint(40, 90))
    parts = [secrets.token_urlsafe(rng.randint(8, 40)) for _ in range(3)]
    return "ghs_" + ".".join(parts)


def issue_token(
    world: World,
    installation_id: int,
    *,
    ttl: float,
    rng: random.Random,
    permissions: dict[str, str],
    repository_ids: set[int] | None,
) -> IssuedToken:
    issued = IssuedToken(
        token=new_token_string(rng),
        installation_id=installation_id,
        expires_at=time.time() + ttl,
        permissions=permissions,
        repository_ids=repository_ids,
    )
    world.tokens[issued.token] = issued
    return issued
