"""keygen-sdk (PyPI, MIT; an unofficial Python port of Keygen's Go SDK) against a
Keywright server, as a vendor's Python application would use it: the API URL, the
account, the product, the license key and the product's public key are its only
settings, and every answer's Keygen-Signature is checked by the SDK.

Usage: keygen_sdk_flow.py BASE_URL ACCOUNT PRODUCT LICENSE_KEY PUBLIC_KEY_HEX
Prints one line per step; exits non-zero on the first surprise.
"""

import sys

import keygen


def expect(condition, what):
    if not condition:
        raise SystemExit(f"FAIL: {what}")
    print(f"ok: {what}")


def main():
    base, account, product, key, public_key = sys.argv[1:6]
    keygen.api_url = base
    keygen.account = account
    keygen.product = product
    keygen.license_key = key
    keygen.public_key = public_key

    here = "py-fingerprint-0001"
    try:
        keygen.validate(here)
        raise SystemExit("FAIL: a license without machines validated for a fingerprint")
    except keygen.LicenseNotActivatedError as err:
        license = err.license
        expect(err.result.code == "NO_MACHINE", "validate before activation: NO_MACHINE")

    machine = license.activate(here)
    expect(machine.fingerprint == here, "activate this machine")
    validated = keygen.validate(here)
    expect(validated.id == license.id, "validate after activation: VALID")

    try:
        license.activate(here)
        raise SystemExit("FAIL: the same fingerprint activated twice")
    except keygen.MachineAlreadyActivatedError:
        expect(True, "activating again: FINGERPRINT_TAKEN")
    try:
        license.activate("py-fingerprint-0002")
        raise SystemExit("FAIL: a second machine on a node-locked license")
    except keygen.MachineLimitExceededError:
        expect(True, "a second machine: MACHINE_LIMIT_EXCEEDED")
    try:
        license.validate("py-fingerprint-0002")
        raise SystemExit("FAIL: another fingerprint validated")
    except keygen.LicenseNotActivatedError as err:
        expect(err.result.code == "FINGERPRINT_SCOPE_MISMATCH", "wrong fingerprint: FINGERPRINT_SCOPE_MISMATCH")

    expect([m.id for m in license.machines()] == [machine.id], "list the license's machines")
    expect(license.machine(here).id == machine.id, "find the machine by fingerprint")
    codes = sorted(e.code for e in license.entitlements())
    expect(codes == ["EXPORT_PDF", "SYNC"], "list the entitlements")

    lic = license.checkout(ttl=3600)
    lic.verify()
    dataset = lic.decrypt(key)
    expect(dataset.license.id == license.id, "license file verified and decrypted offline")
    mf = machine.checkout(ttl=3600)
    mf.verify()
    dataset = mf.decrypt(key + here)
    expect(dataset.machine.id == machine.id, "machine file verified and decrypted offline")

    machine.deactivate()
    try:
        keygen.validate(here)
        raise SystemExit("FAIL: validated after deactivation")
    except keygen.LicenseNotActivatedError as err:
        expect(err.result.code == "NO_MACHINE", "validate after deactivation: NO_MACHINE")

    print("keygen-sdk flow passed")


if __name__ == "__main__":
    main()
