"""Numba kernels behind :mod:`._acsf_fast` (private; imported lazily, compiled once and cached).

Module-level functions only, so that ``cache=True`` works. See :mod:`._acsf_fast`
for what they compute and why they are shaped this way.
"""
# flake8: noqa: C901
from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._acsf_kernel_parts import (_OPTS, build_triplets, centre_setup, jk_apply, ladder_grad, ladder_sums,
                                 local_sort, n_triplets, power_grad, power_sum, radial_setup, vexp)


@nb.njit(parallel=True, **_OPTS)
def fwd(vec, offsets, sj, ns, rc, poly, g2, g3, eall, is4, pc, dpc, nco, uu, kz, kl, kint, fcc, dfcc, fcn,
        m2, mu, n_chunks, out):
    n_atoms = len(offsets) - 1
    n2, n3 = g2.shape[0], g3.shape[0]
    nu, na = eall.shape[0], uu.shape[0]
    nr = 1 + n2 + n3
    npt = ns * (ns + 1) // 2
    irc2 = 1.0 / (rc * rc)
    abase = ns * nr
    keep_all = False
    for u in range(nu):
        keep_all = keep_all or not is4[u]
    mmax = 0
    for ia in range(n_atoms):
        mmax = max(mmax, offsets[ia + 1] - offsets[ia])
    lmax = mmax * (mmax - 1) // 2
    nch = min(n_atoms, n_chunks)
    for ch in nb.prange(nch):
        w_perm = np.empty(mmax, np.int64)
        blk = np.empty(ns + 1, np.int64)
        w_X = np.empty(mmax)
        w_Y = np.empty(mmax)
        w_Z = np.empty(mmax)
        w_IR = np.empty(mmax)
        w_R2 = np.empty(mmax)
        w_R = np.empty(mmax)
        w_TR = np.empty(mmax)
        w_F = np.empty(mmax)
        w_E = np.empty(mmax)
        w_XE = np.empty(mmax)
        w_tmp = np.empty(2 * mmax)
        w_EA = np.empty(nu * mmax)
        w_T = np.empty(lmax)
        w_C = np.empty(lmax)
        w_AI = np.empty(lmax, np.int32)
        w_BI = np.empty(lmax, np.int32)
        w_H = np.empty(nu * lmax)
        seglo = np.zeros(npt, np.int64)
        seghi = np.zeros(npt, np.int64)
        sums = np.empty(6)
        for ia in range(ch * n_atoms // nch, (ch + 1) * n_atoms // nch):
            s0 = offsets[ia]
            m = offsets[ia + 1] - s0
            perm = w_perm[:m]
            local_sort(sj, s0, m, ns, perm, blk)
            X = w_X[:m]
            Y = w_Y[:m]
            Z = w_Z[:m]
            IR = w_IR[:m]
            R2 = w_R2[:m]
            centre_setup(vec, s0, m, sj, perm, X, Y, Z, IR, R2)
            EA = w_EA[:nu * m].reshape((nu, m))
            R = w_R[:m]
            TR = w_TR[:m]
            F = w_F[:m]
            E = w_E[:m]
            XE = w_XE[:m]
            radial_setup(R2, IR, m, rc, poly, fcc, dfcc, fcn, R, TR, F, F, False)
            for ts in range(ns):
                lo, hi = blk[ts], blk[ts + 1]
                acc = 0.0
                for b in range(lo, hi):
                    acc += F[b]
                out[ia, ts * nr] += acc
            for k in range(n2):
                eta, rs = g2[k, 0], g2[k, 1]
                for b in range(m):
                    d = R[b] - rs
                    XE[b] = -eta * d * d
                vexp(XE, E, m, m2[k])
                for ts in range(ns):
                    acc = 0.0
                    for b in range(blk[ts], blk[ts + 1]):
                        acc += E[b] * F[b]
                    out[ia, ts * nr + 1 + k] += acc
            for k in range(n3):
                for ts in range(ns):
                    acc = 0.0
                    for b in range(blk[ts], blk[ts + 1]):
                        acc += math.cos(g3[k] * R[b]) * F[b]
                    out[ia, ts * nr + 1 + n2 + k] += acc
            for u in range(nu):
                for b in range(m):
                    XE[b] = -eall[u] * R2[b]
                vexp(XE, EA[u], m, mu[u])
                for b in range(m):
                    EA[u, b] *= F[b]
            if na == 0 or m < 2:
                continue
            L = n_triplets(blk, ns)
            T = w_T[:L]
            C = w_C[:L]
            AI = w_AI[:L]
            BI = w_BI[:L]
            L = build_triplets(X, Y, Z, IR, R2, blk, ns, irc2, keep_all, T, C, AI, BI, seglo, seghi, w_tmp[:2 * m])
            H = w_H[:nu * L].reshape((nu, L))
            for u in range(nu):
                Hu = H[u]
                Eu = EA[u]
                for t in range(L):
                    Hu[t] = Eu[AI[t]] * Eu[BI[t]]
                if is4[u]:
                    jk_apply(nco[u], eall[u], pc[u], dpc[u], rc, T, Hu, Hu, L, poly, False)
            # zeta in {1, 2, 4, 8, 16, 32}: one pass per (eta, lambda, species pair) gives all six sums
            for u in range(nu):
                for sgn in range(2):
                    lam = 1.0 if sgn == 0 else -1.0
                    use = False
                    for k in range(na):
                        use = use or (uu[k] == u and kl[k] == lam and kint[k] > 0
                                      and (kint[k] & (kint[k] - 1)) == 0 and kint[k] <= 32)
                    if not use:
                        continue
                    for its in range(npt):
                        lo, hi = seglo[its], seghi[its]
                        if lo < hi:
                            ladder_sums(C, H[u], lo, hi, lam, sums)
                            for k in range(na):
                                z = kint[k]
                                if uu[k] == u and kl[k] == lam and z > 0 and (z & (z - 1)) == 0 and z <= 32:
                                    q = 0
                                    while (1 << q) < z:
                                        q += 1
                                    out[ia, abase + its * na + k] += 2.0 * sums[q]
            for k in range(na):
                z = kint[k]
                if z > 0 and (z & (z - 1)) == 0 and z <= 32:
                    continue                     # done above
                u = uu[k]
                for its in range(npt):
                    lo, hi = seglo[its], seghi[its]
                    if lo < hi:
                        out[ia, abase + its * na + k] += 2.0 * power_sum(C, H[u], lo, hi, kl[k], kint[k], kz[k])

@nb.njit(parallel=True, **_OPTS)
def bwd(vec, offsets, sj, ns, rc, poly, g2, g3, eall, is4, pc, dpc, nco, uu, kz, kl, kint, fcc, dfcc, fcn,
        m2, mu, gout, gvec):
    n_atoms = len(offsets) - 1
    n2, n3 = g2.shape[0], g3.shape[0]
    nu, na = eall.shape[0], uu.shape[0]
    nr = 1 + n2 + n3
    npt = ns * (ns + 1) // 2
    irc2 = 1.0 / (rc * rc)
    abase = ns * nr
    keep_all = False
    for u in range(nu):
        keep_all = keep_all or not is4[u]
    for ia in nb.prange(n_atoms):
        s0 = offsets[ia]
        m = offsets[ia + 1] - s0
        perm = np.empty(m, np.int64)
        blk = np.empty(ns + 1, np.int64)
        local_sort(sj, s0, m, ns, perm, blk)
        X = np.empty(m)
        Y = np.empty(m)
        Z = np.empty(m)
        IR = np.empty(m)
        R2 = np.empty(m)
        centre_setup(vec, s0, m, sj, perm, X, Y, Z, IR, R2)
        EA = np.empty((nu, m))
        DEA = np.empty((nu, m))             # d EA / d r²
        GX = np.zeros(m)
        GY = np.zeros(m)
        GZ = np.zeros(m)
        R = np.empty(m)
        TR = np.empty(m)
        F = np.empty(m)
        DF = np.empty(m)
        E = np.empty(m)
        XE = np.empty(m)
        DR = np.empty(m)                    # dL/dr
        radial_setup(R2, IR, m, rc, poly, fcc, dfcc, fcn, R, TR, F, DF, True)
        for b in range(m):
            DF[b] *= 2.0 * R[b] * irc2      # dfc/dr
        for ts in range(ns):
            g = gout[ia, ts * nr]
            for b in range(blk[ts], blk[ts + 1]):
                DR[b] = g * DF[b]
        for k in range(n2):
            eta, rs = g2[k, 0], g2[k, 1]
            for b in range(m):
                d = R[b] - rs
                XE[b] = -eta * d * d
            vexp(XE, E, m, m2[k])
            for ts in range(ns):
                g = gout[ia, ts * nr + 1 + k]
                if g != 0.0:
                    for b in range(blk[ts], blk[ts + 1]):
                        DR[b] += g * E[b] * (DF[b] - 2.0 * eta * (R[b] - rs) * F[b])
        for k in range(n3):
            kap = g3[k]
            for ts in range(ns):
                g = gout[ia, ts * nr + 1 + n2 + k]
                for b in range(blk[ts], blk[ts + 1]):
                    r = R[b]
                    DR[b] += g * (math.cos(kap * r) * DF[b] - kap * math.sin(kap * r) * F[b])
        for b in range(m):
            s = DR[b] * IR[b]
            GX[b] += s * X[b]
            GY[b] += s * Y[b]
            GZ[b] += s * Z[b]
        for u in range(nu):
            for b in range(m):
                XE[b] = -eall[u] * R2[b]
            vexp(XE, E, m, mu[u])
            for b in range(m):
                EA[u, b] = E[b] * F[b]
                DEA[u, b] = E[b] * (0.5 * DF[b] * IR[b] - eall[u] * F[b])
        if na > 0 and m >= 2:
            L = n_triplets(blk, ns)
            T = np.empty(L)
            C = np.empty(L)
            AI = np.empty(L, np.int32)
            BI = np.empty(L, np.int32)
            seglo = np.zeros(npt, np.int64)
            seghi = np.zeros(npt, np.int64)
            L = build_triplets(X, Y, Z, IR, R2, blk, ns, irc2, keep_all, T, C, AI, BI, seglo, seghi, np.empty(2 * m))
            HJ = np.empty((nu, L))          # h(t): jk factor (1 for G5)
            DHJ = np.empty((nu, L))         # h'(t)
            E2 = np.empty((nu, L))          # EA_a EA_b h(t)
            SU = np.zeros((nu, L))          # sum_k g_k b^zeta per eta row
            QC = np.zeros(L)                # dL/dcos
            CA = np.zeros(L)                # dL/d r_ij²
            CB = np.zeros(L)                # dL/d r_ik²
            CT = np.zeros(L)                # dL/dt
            for u in range(nu):
                HJu = HJ[u]
                DHu = DHJ[u]
                for t in range(L):
                    HJu[t] = 1.0
                    DHu[t] = 0.0
                if is4[u]:
                    jk_apply(nco[u], eall[u], pc[u], dpc[u], rc, T, HJu, DHu, L, poly, True)
                Eu = EA[u]
                E2u = E2[u]
                for t in range(L):
                    E2u[t] = Eu[AI[t]] * Eu[BI[t]] * HJu[t]
            gl = np.empty(6)
            gql = np.empty(6)
            for u in range(nu):                  # zeta in {1, 2, 4, 8, 16, 32}: one pass per (eta, lambda)
                for sgn in range(2):
                    lam = 1.0 if sgn == 0 else -1.0
                    for its in range(npt):
                        lo, hi = seglo[its], seghi[its]
                        if lo >= hi:
                            continue
                        nz = False
                        for q in range(6):
                            gl[q] = 0.0
                            gql[q] = 0.0
                        for k in range(na):
                            z = kint[k]
                            if uu[k] == u and kl[k] == lam and z > 0 and (z & (z - 1)) == 0 and z <= 32:
                                q = 0
                                while (1 << q) < z:
                                    q += 1
                                g = 2.0 * gout[ia, abase + its * na + k]
                                gl[q] += g
                                gql[q] += g * z * 0.5 * lam
                                nz = nz or g != 0.0
                        if nz:
                            ladder_grad(C, E2[u], SU[u], QC, lo, hi, lam, gl, gql)
            for k in range(na):
                z = kint[k]
                if z > 0 and (z & (z - 1)) == 0 and z <= 32:
                    continue                     # done above
                u = uu[k]
                n = kint[k] - 1 if kint[k] >= 0 else -1
                for its in range(npt):
                    lo, hi = seglo[its], seghi[its]
                    g = 2.0 * gout[ia, abase + its * na + k]
                    if lo < hi and g != 0.0:
                        power_grad(C, E2[u], SU[u], QC, lo, hi, kl[k], n, kz[k], g, g * kz[k] * 0.5 * kl[k])
            for u in range(nu):
                Eu = EA[u]
                Du = DEA[u]
                SUu = SU[u]
                HJu = HJ[u]
                DHu = DHJ[u]
                for t in range(L):
                    a = AI[t]
                    b = BI[t]
                    w = SUu[t]
                    ea = Eu[a]
                    eb = Eu[b]
                    CA[t] += w * Du[a] * eb * HJu[t]
                    CB[t] += w * ea * Du[b] * HJu[t]
                    CT[t] += w * ea * eb * DHu[t]
            for t in range(L):
                a = AI[t]
                b = BI[t]
                xa, ya, za, ira = X[a], Y[a], Z[a], IR[a]
                xb, yb, zb, irb = X[b], Y[b], Z[b], IR[b]
                dx = xb - xa
                dy = yb - ya
                dz = zb - za
                inv = ira * irb
                cs = C[t]
                qc = QC[t]
                fa = cs * ira * ira
                fb = cs * irb * irb
                cjk = 2.0 * CT[t] * irc2
                ta2 = 2.0 * CA[t]
                tb2 = 2.0 * CB[t]
                GX[a] += qc * (xb * inv - fa * xa) + ta2 * xa - cjk * dx
                GY[a] += qc * (yb * inv - fa * ya) + ta2 * ya - cjk * dy
                GZ[a] += qc * (zb * inv - fa * za) + ta2 * za - cjk * dz
                GX[b] += qc * (xa * inv - fb * xb) + tb2 * xb + cjk * dx
                GY[b] += qc * (ya * inv - fb * yb) + tb2 * yb + cjk * dy
                GZ[b] += qc * (za * inv - fb * zb) + tb2 * zb + cjk * dz
        for a in range(m):
            p = s0 + perm[a]
            gvec[p, 0] += GX[a]
            gvec[p, 1] += GY[a]
            gvec[p, 2] += GZ[a]

