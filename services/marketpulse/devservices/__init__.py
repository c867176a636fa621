"""devservices"""
