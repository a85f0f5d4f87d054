"""Judging churn scores.

``ranking`` (ROC hull, lift, gains), ``profit`` (EMPC, MPC, profit curve) with the
campaign costs in ``economics``, ``calibration`` (ECE), ``checks`` (input checks),
``backtest`` (one test slice and the rolling-origin backtest) and ``time_split``.
"""
