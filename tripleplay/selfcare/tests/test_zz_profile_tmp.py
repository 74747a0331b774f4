import cProfile
import pstats
import time


def test_profile(portal):
    c = portal.ada.client
    urls = ("/my/", "/my/services/", "/my/invoices/", "/my/payments/", "/my/usage/")
    for url in urls:
        c.get(url)
    for url in urls:
        t0 = time.perf_counter()
        for _ in range(50):
            c.get(url)
        print(url, round((time.perf_counter() - t0) / 50 * 1000, 2), "ms")
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(40):
        for url in urls:
            c.get(url)
    pr.disable()
    st = pstats.Stats(pr)
    st.sort_stats("cumulative").print_stats(60)
    st.sort_stats("tottime").print_stats(30)
