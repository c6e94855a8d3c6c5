from django.urls import path

from shadow import views

app_name = "shadow"

urlpatterns = [
    path("", views.console, name="console"),
]
