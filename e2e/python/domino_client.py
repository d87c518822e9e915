"""Drives the real `dominodatalab` client (python-domino) against a running Tessera.

Environment: TESSERA_URL, JANE_PAT (a PAT of user jane), JANE_API_KEY (jane's legacy API key).
A user `bob` (bob@example.com) must exist. Exits non-zero with the failing step on any error.
"""

import os
import sys

from domino import Domino
from domino.domino_enums import ProjectVisibility

URL = os.environ["TESSERA_URL"]
PAT = os.environ["JANE_PAT"]
API_KEY = os.environ["JANE_API_KEY"]
for name in ("DOMINO_USER_API_KEY", "DOMINO_TOKEN_FILE", "DOMINO_API_PROXY", "DOMINO_API_HOST"):
    os.environ.pop(name, None)


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


# The constructor checks the deployment's version (GET /version, at least 4.1.0).
d = Domino("jane/quarterly-report", host=URL, auth_token=PAT)
check(d.requires_at_least("4.1.0"), f"version {d._version} below 4.1.0")

me = d.request_manager.get(f"{URL}/v4/users/self").json()
check(me["userName"] == "jane", f"/v4/users/self: {me}")

# project_create_v4 sends tags, collaborators and ownerId (from GET /v4/users): all accepted.
created = d.project_create_v4(
    "quarterly-report", description="Numbers", visibility=ProjectVisibility.PRIVATE
)
check(created["name"] == "quarterly-report", f"create: {created}")
check(created["ownerId"] == me["id"], f"create owner: {created}")

owned = d.projects_list()  # relationship=Owned&showCompleted=false
check(any(p["id"] == created["id"] for p in owned), f"projects_list: {owned}")
collaborating = d.projects_list(relationship="Collaborating")
check(all(p["id"] != created["id"] for p in collaborating), f"collaborating: {collaborating}")

check(d.project_id == created["id"], f"findProjectByOwnerAndName: {d.project_id}")

added = d.collaborators_add("bob")
check(added.status_code == 200, f"collaborators_add: {added.status_code} {added.text}")
project = d.request_manager.get(f"{URL}/v4/projects/{created['id']}").json()
names = [c["userName"] for c in project["collaborators"]]
check("bob" in names, f"collaborators after add: {project['collaborators']}")

removed = d.collaborators_remove("bob@example.com")
check(removed.status_code == 200, f"collaborators_remove: {removed.status_code} {removed.text}")
project = d.request_manager.get(f"{URL}/v4/projects/{created['id']}").json()
check(project["collaborators"] == [], f"collaborators after remove: {project['collaborators']}")

# The legacy API key in X-Domino-Api-Key, as the client sends it.
legacy = Domino("jane/quarterly-report", host=URL, api_key=API_KEY)
me = legacy.request_manager.get(f"{URL}/v4/users/self").json()
check(me["userName"] == "jane", f"/v4/users/self with the API key: {me}")
check(legacy.project_id == created["id"], "project_id with the API key")

print("dominodatalab: ok")
