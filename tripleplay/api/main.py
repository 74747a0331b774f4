from ninja import NinjaAPI

api = NinjaAPI(title="Tripleplay API", version="1", urls_namespace="api-v1")
