"""WSGI entry points of the real services for gunicorn (`services:keystone()`,
`services:glance()`). Both parse the process's command line through oslo.config when they
are imported, and gunicorn's own arguments are not theirs: the factories empty `sys.argv`
first. The configuration comes from the environment (OS_KEYSTONE_CONFIG_FILES,
OS_GLANCE_CONFIG_DIR), set by stack.py.
"""

import sys


def _own_arguments_only():
    del sys.argv[1:]


def keystone():
    _own_arguments_only()
    from keystone.wsgi.api import application

    return application


def glance():
    _own_arguments_only()
    from glance.wsgi.api import application

    return application
