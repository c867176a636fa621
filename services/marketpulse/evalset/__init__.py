"""evalset"""
