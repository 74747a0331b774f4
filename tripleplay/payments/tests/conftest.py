from tripleplay.payments.tests.fixtures import payments_on, stripe_sim  # noqa: F401
