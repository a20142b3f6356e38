SELECT a # b
