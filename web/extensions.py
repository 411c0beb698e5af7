"""Extension objects, bound to an app in create_app."""
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_socketio import SocketIO

from models import db

migrate = Migrate()
jwt = JWTManager()
socketio = SocketIO()

__all__ = ["db", "jwt", "migrate", "socketio"]
