"""Entry point: authenticate, then route to the pages of the current role.

Served by ``streamlit run serve.py`` (this script plus the HTTP routes of api/routes.py; ``make run``
does everything).
"""

import streamlit as st

from db.session import session_scope
from deploy.cluster import WARM_UP_PARAM
from services import scenarios, search_data
from ui import (
    charts,  # noqa: F401 - the chart library (~0.4 s) imported by a server's first run, not a page's
    memory,
    uploads,
)
from ui.auth import forced_change_pages, require_valid_settings, run_auth
from ui.background import ensure_dynamic_worker
from ui.errors import install as install_fault_handler
from ui.guards import MUST_CHANGE_KEY
from ui.navigation import pages_for, remember_requested_page, requested_page_after_change
from ui.widgets import FAVICON, apply_chrome

# Uploads only from logged-in sessions whose page shows an uploader, within bounds (ui/uploads.py).
uploads.install()
# A local file: a material-icon favicon would be fetched from fonts.gstatic.com (intranets are offline).
st.set_page_config(page_title="企业创新积分", page_icon=str(FAVICON), layout="wide")
apply_chrome()
# Database unreachable, disk full, read-only storage: a Chinese message on every page and the login,
# the details in the server log only (ui/errors.py).
install_fault_handler()
require_valid_settings()  # every environment variable (core/settings.py) and the cookie key, or a Chinese error
ensure_dynamic_worker()  # 动态积分: recomputes a year in the background after approvals and imports

# Authentication decides the role; anonymous visitors see the public pages. Login and logout happen
# here, before st.navigation, and nothing reruns right after them (the cookie must reach the browser).
actor = run_auth()
role: str | None = actor.role if actor else None
if actor is None and st.query_params.get(WARM_UP_PARAM) == "start":
    # the cluster supervisor's run after a server start (deploy.cluster.warm_up): read what the officer
    # pages share now, before any officer arrives, and finish the run only when it is read
    with session_scope() as session:
        scenarios.warm_after_start(session)
elif role in ("officer", "admin"):
    # 企业检索's data (the default run's scores, the name index) is read in the background while the
    # officer is on another page: the first search after a server start is then as fast as the next
    with session_scope() as session:
        search_data.warm_search(session, actor=actor)
        # likewise 榜单与扶持, 培育库 and 展示大屏 of the latest published run (read once per process and data)
        scenarios.warm_published(session, actor=actor)

# afterwards this session may upload only what this run's uploaders accept, and the run's garbage is gone
with memory.after_run(), uploads.page_run():
    if actor is not None and st.session_state.get(MUST_CHANGE_KEY):
        # A one-time password must be replaced before anything else; the page a deep link named is kept.
        remember_requested_page()
        st.navigation(forced_change_pages()).run()
    else:
        navigation = st.navigation(pages_for(role), expanded=True)  # every page listed: no "View N more"
        target = requested_page_after_change(role) if actor is not None else None
        if target is not None:  # the new password is set: open the page the deep link named
            if st.session_state.pop("_password_changed", False):
                st.toast("密码已修改，其他设备上的登录已全部退出。", icon=":material/check_circle:")
            st.switch_page(target)
        navigation.run()
