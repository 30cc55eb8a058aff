import time, sys
sys.path.insert(0, "/work/main")
from hypothesis import given, settings, HealthCheck
import tests.properties.test_attacks as A
cases = []
@settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(A.studies(3))
def collect(c): cases.append(c)
collect()
t=time.time(); fails=0
for i, c in enumerate(cases):
    for k in (3,5,10):
        try: A._attack(*c, k)
        except AssertionError as e:
            fails+=1
            if fails<3: print("FAIL", i, k, c[2], repr(e)[:1500])
print("per attack", (time.time()-t)/len(cases)/3, "fails", fails)
