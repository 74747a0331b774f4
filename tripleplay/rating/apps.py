from django.apps import AppConfig


class RatingConfig(AppConfig):
    name = "tripleplay.rating"
    label = "rating"
